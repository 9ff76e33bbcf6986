import type { TollgateConfig } from '../config/types.ts';

export type TourStep = 'served' | 'redacted' | 'denied' | 'limited';

/** What each step's request is, and what the user should see. */
export interface TourRequest {
  step: TourStep;
  key: string;
  title: string;
  body: Record<string, unknown>;
  /** How many times to send it (the rate-limit step needs a few). */
  times: number;
  expect: string;
}

/** A card number that passes Luhn and is not a published test card: the detector masks it. */
const TOUR_CARD = '4539 1488 0343 6467';

/**
 * The requests of `npm start`'s first-run tour, one per thing a new user should see: an answer, a value redacted
 * before the provider saw it (the demo provider echoes what it received), a policy denial with its reason, and a
 * rate limit. Steps whose tenant the config does not name are left out.
 */
export function tourRequests(config: TollgateConfig, keys: Partial<Record<TourStep, string>>, model: string): TourRequest[] {
  const steps: TourRequest[] = [];
  const ask = (content: string, extra: Record<string, unknown> = {}) => ({ model, messages: [{ role: 'user', content }], ...extra });
  if (keys.served) {
    steps.push({ step: 'served', key: keys.served, title: 'an answer (the demo provider echoes what it received)', body: ask('Hello, Tollgate!'), times: 1, expect: '200, "Echo: Hello, Tollgate!"' });
  }
  const tour = config.demo?.tour;
  if (keys.redacted && tour?.redacted) {
    steps.push({
      step: 'redacted', key: keys.redacted, times: 1,
      title: `a card number masked before the provider sees it (policy: team ${tour.redacted.team} redacts credit cards)`,
      body: { ...ask(`Please refund my card ${TOUR_CARD} for order 1042.`), model: tour.redacted.model ?? model },
      expect: '200, the echo shows [REDACTED_CREDIT_CARD] where the number was',
    });
  }
  if (keys.denied && tour?.denied) {
    steps.push({
      step: 'denied', key: keys.denied, times: 1,
      title: `a request denied by policy, with its reason (team ${tour.denied.team} may not send personal data to the vendor of ${tour.denied.model ?? model})`,
      body: { ...ask(`Please refund my card ${TOUR_CARD} for order 1042.`), model: tour.denied.model ?? model },
      expect: '403, the message gives the policy\'s reason',
    });
  }
  if (keys.limited && tour?.limited) {
    steps.push({
      step: 'limited', key: keys.limited, times: 3,
      title: `a rate limit (app ${tour.limited.team}/${tour.limited.app}: 2 requests per minute)`,
      body: ask('Ping'),
      expect: '200, 200, then 429 rate_limit_exceeded with Retry-After',
    });
  }
  return steps;
}

const shellQuote = (text: string) => `'${text.replaceAll("'", "'\\''")}'`;

/** The tour as copy-paste curl commands, ending at the usage dashboard where the requests just sent show up. */
export function tourText(requests: TourRequest[], baseUrl: string, dashboardUrl?: string): string {
  const lines: string[] = ['Tour (copy and paste):'];
  requests.forEach((request, index) => {
    const curl = `curl -s ${baseUrl}/chat/completions -H "Authorization: Bearer ${request.key}" -H "Content-Type: application/json" -d ${shellQuote(JSON.stringify(request.body))}`;
    lines.push('', `  ${index + 1}. ${request.title}`);
    lines.push(request.times > 1 ? `     for i in ${Array.from({ length: request.times }, (_, i) => i + 1).join(' ')}; do ${curl} -w ' → %{http_code}\\n'; echo; done` : `     ${curl}`);
    lines.push(`     expect: ${request.expect}`);
  });
  if (dashboardUrl) lines.push('', `Then open the usage dashboard: ${dashboardUrl}  (sign in with the admin token; spend, denials, budgets)`);
  return lines.join('\n');
}
