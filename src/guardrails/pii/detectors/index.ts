import { EMAIL_DETECTORS, PHONE_DETECTORS } from './contact.ts';
import type { Detector } from './detector.ts';
import { FINANCIAL_DETECTORS } from './financial.ts';
import { IP_DETECTORS } from './network.ts';
import { NATIONAL_ID_DETECTORS } from './national-ids.ts';
import { SECRET_DETECTORS } from './secrets.ts';

export type { Detector, Range } from './detector.ts';

/**
 * Every built-in recogniser, in priority order: where two overlap, the earlier wins. Secrets first (a key or a URL
 * with a password contains digit runs and @), then emails (a phone number can be a local part), then the values
 * with a check digit, then national IDs before phones (a CCCD is twelve digits starting 0), then IP addresses.
 */
export const DETECTORS: readonly Detector[] = [
  ...SECRET_DETECTORS,
  ...EMAIL_DETECTORS,
  ...FINANCIAL_DETECTORS,
  ...NATIONAL_ID_DETECTORS,
  ...IP_DETECTORS,
  ...PHONE_DETECTORS,
];
