/**
 * Classifying AWS SDK errors and turning them into one-line OrchErrors that say what to do next.
 * No AWS module is imported here: errors are recognised by their name and metadata only,
 * so this file is cheap to load. Raw AWS messages are not echoed for credential or permission
 * failures (they can carry encoded authorization details); nothing secret is ever printed.
 */
import {OrchError} from '../errors/errors.js'

const THROTTLING = new Set([
  'Throttling',
  'ThrottlingException',
  'ThrottledException',
  'RequestLimitExceeded',
  'RequestThrottled',
  'RequestThrottledException',
  'TooManyRequestsException',
  'SlowDown',
])

const TRANSIENT = new Set([
  'ServiceUnavailable',
  'ServiceUnavailableException',
  'Unavailable',
  'InternalError',
  'InternalFailure',
  'InternalServerError',
  'InternalServerException',
  'RequestTimeout',
  'RequestTimeoutException',
  'TimeoutError',
  'NetworkingError',
])

const NETWORK_CODES = new Set(['ECONNRESET', 'ECONNREFUSED', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN', 'ENETUNREACH', 'EHOSTUNREACH'])

const ACCESS_DENIED = new Set(['UnauthorizedOperation', 'AccessDenied', 'AccessDeniedException', 'UnauthorizedAccess'])

const BAD_CREDENTIALS = new Set([
  'AuthFailure',
  'UnrecognizedClientException',
  'InvalidClientTokenId',
  'SignatureDoesNotMatch',
  'IncompleteSignature',
  'InvalidSignatureException',
  'MissingAuthenticationToken',
])

const EXPIRED_CREDENTIALS = new Set(['ExpiredToken', 'ExpiredTokenException', 'TokenProviderError'])

const CONFIGURE_CREDENTIALS =
  'configure AWS credentials: set AWS_PROFILE to a profile from ~/.aws/config (run `aws sso login` for SSO profiles), run `aws configure`, or export AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY'

/** The AWS error code (the SDK puts it in `name`; some errors use `code`/`Code`). */
export function awsErrorName(error: unknown): string | undefined {
  if (typeof error !== 'object' || error === null) return undefined
  const record = error as {name?: unknown; Code?: unknown; code?: unknown}
  if (typeof record.Code === 'string') return record.Code
  if (typeof record.name === 'string' && record.name !== 'Error') return record.name
  if (typeof record.code === 'string') return record.code
  return typeof record.name === 'string' ? record.name : undefined
}

function httpStatus(error: unknown): number | undefined {
  if (typeof error !== 'object' || error === null) return undefined
  const status = (error as {$metadata?: {httpStatusCode?: unknown}}).$metadata?.httpStatusCode
  return typeof status === 'number' ? status : undefined
}

function errnoCode(error: unknown): string | undefined {
  if (typeof error !== 'object' || error === null) return undefined
  const code = (error as {code?: unknown}).code
  return typeof code === 'string' ? code : undefined
}

export function isThrottlingError(error: unknown): boolean {
  const name = awsErrorName(error)
  if (name !== undefined && THROTTLING.has(name)) return true
  if (httpStatus(error) === 429) return true
  return typeof error === 'object' && error !== null && (error as {$retryable?: {throttling?: boolean}}).$retryable?.throttling === true
}

/** Throttling, 5xx, service-unavailable and network failures: worth another try after a pause. */
export function isTransientError(error: unknown): boolean {
  if (isThrottlingError(error)) return true
  const name = awsErrorName(error)
  if (name !== undefined && TRANSIENT.has(name)) return true
  const status = httpStatus(error)
  if (status !== undefined && status >= 500) return true
  const code = errnoCode(error)
  return code !== undefined && NETWORK_CODES.has(code)
}

export function isAccessDenied(error: unknown): boolean {
  const name = awsErrorName(error)
  return name !== undefined && ACCESS_DENIED.has(name)
}

/** An OrchError for missing, rejected or expired credentials, or a missing region; undefined otherwise. */
export function credentialsProblem(error: unknown): OrchError | undefined {
  const name = awsErrorName(error)
  const message = error instanceof Error ? error.message : ''
  if (name === 'CredentialsProviderError' || /could not load credentials/i.test(message)) {
    return withCause(new OrchError('config', 'no AWS credentials found', CONFIGURE_CREDENTIALS), error)
  }
  if (name !== undefined && EXPIRED_CREDENTIALS.has(name)) {
    return withCause(
      new OrchError('config', 'the AWS credentials have expired', 'run `aws sso login` (SSO profiles) or refresh the credentials in use, then retry'),
      error,
    )
  }
  if (name !== undefined && BAD_CREDENTIALS.has(name)) {
    return withCause(
      new OrchError('config', `AWS rejected the credentials (${name})`, `check which identity is in use with \`aws sts get-caller-identity\`; ${CONFIGURE_CREDENTIALS}`),
      error,
    )
  }
  if (/region is missing/i.test(message)) {
    return withCause(
      new OrchError('config', 'no AWS region configured', 'set AWS_REGION (e.g. AWS_REGION=eu-west-1) or a region in your AWS profile'),
      error,
    )
  }
  return undefined
}

export interface AwsFailureContext {
  /** What orch was doing, e.g. "DescribeInstances for i-0abc". */
  action: string
  /** The IAM permission that action needs, e.g. "ec2:DescribeInstances". */
  permission: string
}

/**
 * The general mapping for an AWS failure not handled more specifically by the caller:
 * credentials/region → config, access denied → names the permission, network → connection,
 * anything else → cloud with the AWS error code and the first line of its message.
 */
export function awsFailure(error: unknown, context: AwsFailureContext): OrchError {
  if (error instanceof OrchError) return error
  const credentials = credentialsProblem(error)
  if (credentials) return credentials
  const name = awsErrorName(error) ?? 'Error'
  if (isAccessDenied(error)) {
    return withCause(
      new OrchError('cloud', `AWS refused ${context.action}: permission ${context.permission} is missing (${name})`, `grant ${context.permission} to the IAM identity in use (see \`aws sts get-caller-identity\`), then retry`),
      error,
    )
  }
  if (isThrottlingError(error)) {
    return withCause(new OrchError('cloud', `AWS kept throttling ${context.action} (${name})`, 'wait a minute and retry'), error)
  }
  const code = errnoCode(error)
  if (code !== undefined && NETWORK_CODES.has(code)) {
    return withCause(new OrchError('connection', `could not reach AWS for ${context.action} (${code})`, 'check the network connection and AWS_REGION, then retry'), error)
  }
  if (isTransientError(error)) {
    return withCause(new OrchError('cloud', `AWS failed ${context.action} (${name}), even after retries`, 'AWS seems unavailable; retry in a few minutes'), error)
  }
  return withCause(new OrchError('cloud', `AWS failed ${context.action}: ${name}: ${firstLine(error)}`, 'fix the cause named by AWS, then retry'), error)
}

function firstLine(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error)
  const line = message.split(/\r?\n/, 1)[0] ?? ''
  return line.length > 200 ? `${line.slice(0, 197)}...` : line
}

export function withCause<E extends Error>(orchError: E, cause: unknown): E {
  orchError.cause = cause
  return orchError
}
