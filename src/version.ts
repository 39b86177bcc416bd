// Kept in step with package.json by test/version.test.ts; a literal avoids reading
// package.json at start-up and keeps the exporter version inside signed manifests stable.
export const TOOL_NAME = 'stella-evidence';
export const TOOL_VERSION = '0.1.0';
