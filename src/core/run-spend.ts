import { PriceTable, RetrievalTier, US_EAST_1_PRICES } from './prices';

/**
 * The optional per-run spend cap: at most so many Glacier retrieval requests, and/or at most so many
 * estimated retrieval dollars, per run (every attempt of the run, re-requests of the download-window
 * extension included). Dollars are estimated from the price table (us-east-1 list prices) as the
 * tier's per-request price plus its per-GB price for the archive's bytes, and kept in whole
 * micro-dollars so the ledger adds integers only.
 */

/** The caps of one deployment; an absent cap does not bound anything. */
export interface RunSpendCaps {
  readonly maxRequests?: number;
  /** Estimated retrieval dollars, in micro-dollars (USD × 1,000,000). */
  readonly maxMicroUsd?: number;
}

/** What a run has spent (requests sent, estimated micro-dollars). */
export interface RunSpend {
  readonly requests: number;
  readonly microUsd: number;
}

/** The part of a list of archive requests that fits under the caps. */
export interface SpendPrefix {
  /** How many of the sizes (a prefix) fit. */
  readonly count: number;
  /** Their estimated cost, micro-dollars. */
  readonly microUsd: number;
  /** True when not every size fits (the cap is reached for the rest). */
  readonly capReached: boolean;
}

const GB = 1024 ** 3;
const TIERS = Object.values(RetrievalTier) as string[];

/** True when at least one cap is set. */
export function hasSpendCap(caps: RunSpendCaps): boolean {
  return caps.maxRequests !== undefined || caps.maxMicroUsd !== undefined;
}

/** Estimated micro-dollars of one retrieval request of `bytes` at `tier` (rounded up). */
export function retrievalMicroUsd(tier: string, bytes: number, prices: PriceTable = US_EAST_1_PRICES): number {
  if (!TIERS.includes(tier)) throw new Error(`tier must be one of ${TIERS.join(', ')}, got ${JSON.stringify(tier)}`);
  const p = prices.glacierRetrieval[tier as RetrievalTier];
  const micro = (p.per1000Requests.usd / 1000 + (p.perGB.usd * bytes) / GB) * 1_000_000;
  // Rounded to 1e-6 micro-dollars first, so floating-point noise does not add a micro-dollar.
  return Math.ceil(Number(micro.toFixed(6)));
}

/** The longest prefix of `sizes` whose requests keep `spent` within `caps`. */
export function spendPrefix(sizes: readonly number[], tier: string, spent: RunSpend, caps: RunSpendCaps): SpendPrefix {
  let count = 0;
  let microUsd = 0;
  for (const size of sizes) {
    const cost = retrievalMicroUsd(tier, size);
    if (caps.maxRequests !== undefined && spent.requests + count + 1 > caps.maxRequests) break;
    if (caps.maxMicroUsd !== undefined && spent.microUsd + microUsd + cost > caps.maxMicroUsd) break;
    count++;
    microUsd += cost;
  }
  return { count, microUsd, capReached: count < sizes.length };
}

/** Throws unless the caps are whole, non-negative and within range; names the props. */
export function validateSpendCaps(caps: { maxRetrievalRequestsPerRun?: number; maxRetrievalDollarsPerRun?: number }): RunSpendCaps {
  const { maxRetrievalRequestsPerRun: requests, maxRetrievalDollarsPerRun: dollars } = caps;
  if (requests !== undefined && (!Number.isSafeInteger(requests) || requests < 1)) {
    throw new Error(`maxRetrievalRequestsPerRun must be a whole number of requests of at least 1, got ${JSON.stringify(requests)}`);
  }
  if (dollars !== undefined && (typeof dollars !== 'number' || !Number.isFinite(dollars) || dollars <= 0 || dollars > 1e9)) {
    throw new Error(`maxRetrievalDollarsPerRun must be a number of US dollars above 0 (at most 1e9), got ${JSON.stringify(dollars)}`);
  }
  return { maxRequests: requests, maxMicroUsd: dollars === undefined ? undefined : Math.floor(dollars * 1_000_000) };
}
