/** The kinds of personal data and secrets the built-in detector recognises (policies see these names). */
export const PII_TYPES = [
  'email', 'phone', 'credit_card', 'iban', 'national_id', 'secret', 'ip_address', 'person_name', 'address',
] as const;
export type PiiType = (typeof PII_TYPES)[number];

/** What the detector reports about a request: types and counts, never the values. */
export interface PiiFindings {
  total: number;
  types: Partial<Record<PiiType, number>>;
}

export const NO_PII: PiiFindings = Object.freeze({ total: 0, types: Object.freeze({}) }) as PiiFindings;

/** The mask that replaces a value in a redacted request, e.g. [REDACTED_EMAIL]. */
export const redactionMask = (type: PiiType) => `[REDACTED_${type.toUpperCase()}]`;
