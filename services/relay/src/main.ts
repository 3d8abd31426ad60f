#!/usr/bin/env node
/**
 * `node services/relay/dist/main.js`: the Kafka relay alone. Configuration from the environment (DESIGN §7,
 * `KAFKA_BROKERS` required); SIGTERM/SIGINT stop it after the request in flight and exit 0.
 */
import { runUntilSignalled } from '@ledger/http';
import { runRelay } from './run-relay.js';

await runUntilSignalled('relay', () => runRelay(process.env));
