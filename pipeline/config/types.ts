/**
 * The validated configuration: its type is generated from schemas/config.schema.json
 * (`npm run schemas`), whose defaults fill every key that has one.
 */
export type { Config } from '../../schemas/generated/config.js';
