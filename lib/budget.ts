// A process-wide memory budget (DESIGN.md section 5; ws issue #2331 asks for one). Per-socket
// limits multiply: 10,000 sockets x 16 MiB of maxBackpressure is 160 GB. The budget caps what all
// the plugin's sockets hold together: incoming messages not yet complete (assembled, waiting to
// inflate, backlogged) and output not yet taken by the kernel. Each socket reports its holding
// when it changes (after each read and each write, not on a timer), so the total is exact at
// those points. Within 10% of the cap new upgrades are refused with 503; past it the socket
// holding the most is failed with 1013 (Try Again Later): its memory goes, the others carry on.

import { kSession } from './symbols'

/** What the budget needs of a socket's machinery (session.ts). */
export interface BudgetHolder {
  /** bytes this holder last reported */
  budgetHeld: number
  /** fail the holder: the budget is exhausted and it holds the most */
  budgetExceeded (held: number, max: number): void
}

/** the share of the budget past which new upgrades are refused */
const REFUSE_AT = 0.9

export class MemoryBudget {
  /** bytes held by every socket together, as last reported */
  held = 0
  /** the cap in bytes */
  readonly max: number
  /** sockets failed because the budget was exhausted, since the start */
  evictions = 0
  /** the plugin's sockets, whose machinery holds the memory */
  private readonly holders: ReadonlySet<{ readonly [kSession]: BudgetHolder }>

  constructor (max: number, holders: ReadonlySet<{ readonly [kSession]: BudgetHolder }>) {
    this.max = max
    this.holders = holders
  }

  /**
   * Within 10% of the cap: new connections are refused until memory is released. The headroom
   * leaves the sockets already open room to finish their messages before anyone is evicted.
   */
  get exhausted (): boolean { return this.held >= this.max * REFUSE_AT }

  /** `holder` now holds `bytes`. */
  report (holder: BudgetHolder, bytes: number): void {
    const delta = bytes - holder.budgetHeld
    if (delta === 0) return
    holder.budgetHeld = bytes
    this.held += delta
    if (delta > 0 && this.held > this.max) this.evict()
  }

  /** `holder` is gone: whatever it held is released. */
  remove (holder: BudgetHolder): void {
    this.held -= holder.budgetHeld
    holder.budgetHeld = 0
  }

  /** Fail the largest holder. A scan of every socket, but only when the cap is crossed. */
  private evict (): void {
    let largest: BudgetHolder | null = null
    for (const socket of this.holders) {
      const h = socket[kSession]
      if (largest === null || h.budgetHeld > largest.budgetHeld) largest = h
    }
    if (largest === null || largest.budgetHeld === 0) return
    this.evictions++
    largest.budgetExceeded(this.held, this.max)
  }
}
