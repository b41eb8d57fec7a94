/** Who is calling, and what they may do: the result of checking an API key or a subscriber token. */
import { SCOPES, type Scope } from '../common/access';

export { SCOPES, type Scope };

export interface Principal {
  /** For rate limits and logs: `key:<hash prefix>`, `token:<subject>`, or `open` when no keys are configured. */
  id: string;
  kind: 'key' | 'token' | 'open';
  scopes: ReadonlySet<Scope>;
  /** A token's readable channels (`*` for all); undefined for API keys, which read every channel. */
  channels?: readonly string[];
  /** When a token stops being valid (ms since the epoch). */
  expiresAt?: number;
}

/** Anyone, when no API keys are configured (development; production refuses to start that way). */
export const OPEN: Principal = { id: 'open', kind: 'open', scopes: new Set(SCOPES) };
