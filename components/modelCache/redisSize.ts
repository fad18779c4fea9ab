/** A Redis size: a non-negative integer with an optional unit, case-insensitive. */
const REDIS_SIZE = /^(\d+)(b|k|kb|m|mb|g|gb)?$/i;

/** Bytes per unit as Redis 7.0 reads them (k = 1000, kb = 1024). */
const UNIT_BYTES: Readonly<Record<string, number>> = {
  b: 1,
  k: 1e3,
  kb: 1024,
  m: 1e6,
  mb: 1024 ** 2,
  g: 1e9,
  gb: 1024 ** 3,
};

/** Bytes of a Redis size (`4gb`, `256mb`, `1000`), or undefined when Redis would reject it. */
export function parseRedisSize(size: string): number | undefined {
  const match = REDIS_SIZE.exec(size);
  if (!match) return undefined;
  const [, count, unit = "b"] = match;
  return Number(count) * UNIT_BYTES[unit.toLowerCase()];
}
