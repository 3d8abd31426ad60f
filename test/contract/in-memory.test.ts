import { InMemoryEventStore } from '@ledger/event-store';
import t from 'tap';
import { eventStoreContract } from './event-store-contract.js';

eventStoreContract(t, {
  name: 'in-memory',
  open: async () => {
    const store = new InMemoryEventStore();
    return { store, dispose: () => store.close() };
  },
});
