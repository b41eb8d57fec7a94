// The specs that need a running Redis (`*.redis-spec.ts`, DATA_STREAMING_REDIS_URL, default 127.0.0.1:6379): the
// default configuration leaves them out so that `npm test` needs only Node; `npm run test:redis` runs them.
const base = require('./jest.config');

/** @type {import('jest').Config} */
module.exports = { ...base, testRegex: '\\.redis-spec\\.ts$' };
