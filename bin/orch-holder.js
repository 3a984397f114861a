#!/usr/bin/env -S node --
// orch's connection holder (src/hosts/holder-main.ts), started detached by an orch command: it
// reads its target on stdin and serves the socket named as its argument (the argument is only
// there so `ps` shows which holder is which).
'use strict'
const {join} = require('node:path')
const {pathToFileURL} = require('node:url')

import(pathToFileURL(join(__dirname, '..', 'dist', 'hosts', 'holder-main.js')).href).then(({holderMain}) => holderMain())
