import { describe, expect, it } from "vitest";
import { balancedOrders, orderings } from "../src/load.js";

/** How often each path comes right after each path, over `cycles` runs of `orders` back to back. */
function predecessors(orders: number[][], cycles: number): Map<string, number> {
  const sequence = Array.from({ length: orders.length * cycles }, (_, i) => orders[i % orders.length] ?? []).flat();
  const counts = new Map<string, number>();
  for (let i = 1; i < sequence.length; i += 1) {
    const pair = `${sequence[i - 1]}>${sequence[i]}`;
    counts.set(pair, (counts.get(pair) ?? 0) + 1);
  }
  return counts;
}

describe("turn orders of the overhead benchmark", () => {
  it("orderings lists every order of the paths exactly once", () => {
    const orders = orderings(3);
    expect(orders).toHaveLength(6);
    expect(new Set(orders.map((order) => order.join(","))).size).toBe(6);
    for (const order of orders) expect([...order].sort()).toEqual([0, 1, 2]);
    expect(orderings(4)).toHaveLength(24);
    expect(orderings(1)).toEqual([[0]]);
  });

  it("balancedOrders puts every path right after each path, itself included, equally often", () => {
    for (const n of [2, 3, 4]) {
      const orders = balancedOrders(n);
      expect(new Set(orders.map((order) => order.join(","))).size).toBe(orderings(n).length);
      const counts = predecessors(orders, 40);
      expect(counts.size).toBe(n * n);
      // Equal up to the one seam a finite run leaves open at its end.
      const values = [...counts.values()];
      expect(Math.max(...values) - Math.min(...values)).toBeLessThanOrEqual(1);
    }
  });

  it("the plain list of orderings would not be balanced (the check above can fail)", () => {
    const counts = predecessors(orderings(3), 40);
    const values = [...counts.values()];
    expect(Math.max(...values) - Math.min(...values)).toBeGreaterThan(1);
  });
});
