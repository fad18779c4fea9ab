// A budget check (one EVALSHA: sliding-window log on Redis TIME) vs a raw ioredis INCR, the
// cheapest fixed-window counter. Run: npx tsx bench/okome-budget.ts
import { OkomeBudget } from "../okome";
import { benchRedis, compare } from "./okome-harness";

async function main(): Promise<void> {
  const { redis, close } = await benchRedis();
  const incr = (): Promise<number> => redis.incr("bench:incr");
  console.log("okome-budget: checkRequest / raw ioredis INCR");
  // Default budget (60/min): after the first 60 calls every check is a denial.
  const denying = new OkomeBudget({ redis });
  await compare("  default 60/min (denials)", () => denying.checkRequest("bench-deny"), incr, 1);
  // A limit no run reaches: every check admits and appends to the log (up to ~1 s of entries).
  const admitting = new OkomeBudget({ redis, requests: { limit: 1_000_000, windowMs: 1000 } });
  await compare("  1e6/s (admissions)", () => admitting.checkRequest("bench-admit"), incr, 1);
  await compare("  1e6/s (admissions)", () => admitting.checkRequest("bench-admit"), incr, 64);
  await close();
}

void main();
