/**
 * Secrets reach orch only through settings; their current values are scrubbed from any text
 * orch prints, so a webhook URL inside an error from a library never leaks.
 */
const registered = new Set<string>()

export function registerSecret(value: string | undefined): void {
  if (value && value.length >= 4) registered.add(value)
}

export function redactSecrets(text: string): string {
  let out = text
  for (const secret of registered) out = out.split(secret).join('[redacted]')
  // Slack webhook paths are secrets wherever they come from.
  return out.replace(/https:\/\/hooks\.slack\.com\/[^\s"']+/g, 'https://hooks.slack.com/[redacted]')
}
