#!/usr/bin/env node
// A committed shim, so npm links the bin at install time, before the package is built.
require('../dist/packages/publisher/src/bin/outbox-relay.js');
