import { silentLogger } from '../../../platform/log.js';
import { StoreDatabase } from '../../../storage/sqlite/database.js';
import { StoreSpanStorage } from '../../../storage/sqlite/span-store.js';
import { runSpanStorageSuite } from '../../helpers/span-storage-suite.js';

runSpanStorageSuite({
  name: 'the embedded store',
  open: async () => {
    const db = new StoreDatabase({ dataDir: '', fileName: ':memory:', retentionMs: 0, log: silentLogger });
    const storage = new StoreSpanStorage(db);
    return {
      writer: storage,
      reader: storage,
      close: async () => {
        await storage.close();
        db.close();
      },
    };
  },
});
