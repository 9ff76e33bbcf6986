/**
 * The words around a value. A nine-digit number is a Dutch BSN, a Canadian SIN, an old Vietnamese ID card, an order
 * number or a count: only the label in front of it tells. Detectors whose pattern alone is ambiguous ask here.
 */

/** How far back a label may stand ("Số CCCD của tôi là 0792…": ~25 characters; a JSON key and its quotes: fewer). */
const WINDOW = 48;

/** Lower-cased text just before `start`, cut at the previous line break (a label on another line is another field). */
export function textBefore(text: string, start: number, window = WINDOW): string {
  const from = Math.max(0, start - window);
  let slice = text.slice(from, start);
  const lineBreak = slice.lastIndexOf('\n');
  if (lineBreak >= 0) slice = slice.slice(lineBreak + 1);
  return slice.toLowerCase();
}

/** Lower-cased text just after `end`, up to the line break ("… 4242 (test card)"). */
export function textAfter(text: string, end: number, window = 24): string {
  let slice = text.slice(end, end + window);
  const lineBreak = slice.indexOf('\n');
  if (lineBreak >= 0) slice = slice.slice(0, lineBreak);
  return slice.toLowerCase();
}

/** Where the last match of a cue ends in a window, or -1. Cues are global regexes on lower-cased text. */
function lastCueEnd(window: string, cue: RegExp): number {
  cue.lastIndex = 0;
  let end = -1;
  for (let match = cue.exec(window); match; match = cue.exec(window)) {
    end = match.index + match[0].length;
    if (match[0].length === 0) cue.lastIndex += 1;
  }
  return end;
}

/**
 * What the nearest label before a value says: 'yes' when the closest cue is one of `positive`, 'no' when it is one of
 * `negative` ("order #", "invoice", "IMEI"), 'none' without either. The nearest wins, so "Order 123 — call me on
 * 0912…" reads as a phone number.
 */
export function nearestCue(text: string, start: number, positive: RegExp, negative: RegExp | null): 'yes' | 'no' | 'none' {
  const window = textBefore(text, start);
  const yes = lastCueEnd(window, positive);
  const no = negative ? lastCueEnd(window, negative) : -1;
  if (yes < 0 && no < 0) return 'none';
  return yes >= no ? 'yes' : 'no';
}

/**
 * Labels that make a number something other than personal data: orders, invoices, tickets, tracking, builds and
 * device serials, in English and Vietnamese. `(?<![a-z])` rather than \b so snake_case keys (`order_id`) count.
 */
export const NOT_PERSONAL_NUMBER = new RegExp(
  String.raw`(?<![a-z])(?:order|invoice|inv|receipt|ticket|tracking|awb|shipment|parcel|sku|serial|imei|` +
    String.raw`build|version|release|port|pid|isbn|issn|txn|transaction|` +
    String.raw`ref|reference|booking|reservation|confirmation|quote|account|acct|stk|routing|swift|bic|` +
    String.raw`mã đơn|đơn hàng|hóa đơn|hoá đơn|mã vận đơn|vận đơn|số tài khoản|tài khoản|mã giao dịch|giao dịch|` +
    String.raw`mã hàng|mã sản phẩm|số seri|số serial|phiên bản|mã tra cứu|mã số thuế|mst)(?![a-z])`,
  'g',
);
