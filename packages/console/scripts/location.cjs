// Where the built console is, for the service that serves it: `require('@data-streaming/console').distDir`.
const { join } = require('node:path');

module.exports = { distDir: join(__dirname, '..', 'dist') };
