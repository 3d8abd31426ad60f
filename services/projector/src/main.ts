/**
 * `node services/projector/dist/main.js`: the projector alone. Configuration from the environment (DESIGN §7);
 * SIGTERM/SIGINT stop the runtime after its batch in flight, close the stores and exit 0.
 */
import { runUntilSignalled } from '@ledger/http';
import { runProjector } from './run-projector.js';

await runUntilSignalled('projector', () => runProjector(process.env));
