import { silentLogger } from '../../../core/log.js';
import { StoreDatabase } from '../../../core/store/database.js';
import { StoreSpanStorage } from '../../../core/store/span-store.js';
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
