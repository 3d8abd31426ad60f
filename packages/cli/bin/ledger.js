#!/usr/bin/env node
// The `ledger` command. A committed shim, so npm links the bin on install, before the first build makes dist/.
import '../dist/main.js';
