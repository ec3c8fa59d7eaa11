/** Licentia's client SDK for Node.js and Electron's main process. */

export { Licentia, DEFAULT_TIMEOUT_MS, type LicentiaOptions } from "./client";
export { FACT_NAMES } from "./facts";
export type { Escrow } from "./escrow";
export {
  ConfigurationError, InvalidAnswer, InvalidDocument, InvalidKey, LicentiaError, Offline, QuotaExceeded, ServerRefused,
  type Consumption, type RefusalDetails,
} from "./errors";
export { Fingerprint, takeFingerprint } from "./fingerprint";
export type { CommandRunner, HardwareSource, InterfaceList, RawHardware } from "./hardware";
export { canonicalJson, parseJson, JsonFloat, type JsonObject, type JsonValue } from "./json";
export { Lease, type LeaseState } from "./leases";
export type { FlushResult } from "./queue";
export type { Maintenance, Release } from "./releases";
export { componentHash, normalizeKey } from "./rules";
export { loadPublicKey, pinKeys, verifyDocument } from "./signing";
export { SignInCode, SLOW_DOWN_STEP } from "./signin";
export { MAX_TICKET_BYTES, TICKET_FILE } from "./tickets";
export { decideOffline, Status, verifyForInstallation, type Customer, type Entitlement } from "./status";
export type { Clock } from "./time";
export type { Scope, Values } from "./values";
export { CLIENT_VERSION, PROTOCOL_VERSION, USER_AGENT } from "./version";
export { DeviceStatus, ErrorCode, EventKind, LicenseState, REPORTED_EVENT_KINDS, StatusReason } from "./vocabulary";
