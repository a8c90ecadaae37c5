export { createS3CacheStore, type S3CacheStoreOptions } from './store.js';
export {
  parseS3CacheUrl,
  formatS3CacheUrl,
  S3_CACHE_URL_FORM,
  type S3CacheLocation,
} from './url.js';
