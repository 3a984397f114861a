#!/usr/bin/env -S node --
// orch's connection holder (src/hosts/holder-main.ts), started detached by an orch command: it
// reads its target on stdin and serves the socket named as its argument (the argument is only
// there so `ps` shows which holder is which).
const {holderMain} = await import('../dist/hosts/holder-main.js')
await holderMain()
