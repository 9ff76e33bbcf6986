/**
 * HTTP/2 wire constants (RFC 9113) for the h2-lite server: only what a gRPC server talking to Envoy needs.
 * Plain objects instead of enums: the project only uses erasable TypeScript syntax.
 */

/** Every frame starts with 9 bytes: length (24 bits), type, flags, reserved bit + stream id (31 bits). */
export const FRAME_HEADER_LENGTH = 9;

/** The client's connection preface, before its first SETTINGS frame. */
export const CLIENT_PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');

export const FrameType = {
  DATA: 0x0,
  HEADERS: 0x1,
  PRIORITY: 0x2,
  RST_STREAM: 0x3,
  SETTINGS: 0x4,
  PUSH_PROMISE: 0x5,
  PING: 0x6,
  GOAWAY: 0x7,
  WINDOW_UPDATE: 0x8,
  CONTINUATION: 0x9,
} as const;

export const Flag = {
  /** DATA, HEADERS. */
  END_STREAM: 0x1,
  /** SETTINGS, PING. */
  ACK: 0x1,
  /** HEADERS, CONTINUATION. */
  END_HEADERS: 0x4,
  /** DATA, HEADERS. */
  PADDED: 0x8,
  /** HEADERS: a 5-byte priority block precedes the header block fragment. */
  PRIORITY: 0x20,
} as const;

export const Setting = {
  HEADER_TABLE_SIZE: 0x1,
  ENABLE_PUSH: 0x2,
  MAX_CONCURRENT_STREAMS: 0x3,
  INITIAL_WINDOW_SIZE: 0x4,
  MAX_FRAME_SIZE: 0x5,
  MAX_HEADER_LIST_SIZE: 0x6,
} as const;

export const ErrorCode = {
  NO_ERROR: 0x0,
  PROTOCOL_ERROR: 0x1,
  INTERNAL_ERROR: 0x2,
  FLOW_CONTROL_ERROR: 0x3,
  STREAM_CLOSED: 0x5,
  FRAME_SIZE_ERROR: 0x6,
  REFUSED_STREAM: 0x7,
  CANCEL: 0x8,
  COMPRESSION_ERROR: 0x9,
  ENHANCE_YOUR_CALM: 0xb,
} as const;

/** Protocol defaults that apply until SETTINGS say otherwise. */
export const DEFAULT_WINDOW_SIZE = 65_535;
export const DEFAULT_MAX_FRAME_SIZE = 16_384;
export const MAX_ALLOWED_FRAME_SIZE = 16_777_215;
export const MAX_WINDOW_SIZE = 2 ** 31 - 1;
/** HPACK dynamic table size both sides start with; we never announce another. */
export const DEFAULT_HEADER_TABLE_SIZE = 4096;
