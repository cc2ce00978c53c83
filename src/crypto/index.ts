export { createKeyRing, keyEntry, type KeyEntry, type KeyRing, type KeyRingConfig } from './keyRing.js';
export { isSealed, open, seal, type Envelope } from './envelope.js';
export { createMemoryDataKeyStore, type DataKeyStore } from './dataKeys.js';
export { createDataKeySealer, type DataKeySealer } from './dataKeySealer.js';
export { DEV_KEY_FILE, loadOrCreateDevKey } from './devKey.js';
