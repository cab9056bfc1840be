/** The tool's version, recorded in every audit record. Kept in step with package.json by a test. */
export const VERSION = '0.1.0';
