import { Initial1795898428753 } from './1795898428753-Initial.js';
import { Constraints1795898500000 } from './1795898500000-Constraints.js';
import { IdempotencyBodyJson1795898980593 } from './1795898980593-IdempotencyBodyJson.js';
import { AgentsListIndex1795899024567 } from './1795899024567-AgentsListIndex.js';
import { RunConcurrencySlots1795900175842 } from './1795900175842-RunConcurrencySlots.js';
import { DropRedundantLiveRunsIndex1795953056069 } from './1795953056069-DropRedundantLiveRunsIndex.js';

/** Migrations in the order they run; a new migration is appended here. */
export const MIGRATIONS: Function[] = [Initial1795898428753, Constraints1795898500000, IdempotencyBodyJson1795898980593, AgentsListIndex1795899024567, RunConcurrencySlots1795900175842, DropRedundantLiveRunsIndex1795953056069];
