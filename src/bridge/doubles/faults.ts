/**
 * Fault injection shared by the form-server test doubles: a server that is
 * down, answers 5xx, answers garbage, answers slowly, or does the work and
 * never answers or answers too late. Tests (and the
 * hardening suite) arm a fault for the next N matching requests or until
 * cleared; the double consults it before routing each request.
 */
import type { IncomingMessage, ServerResponse } from "node:http";

export type Fault =
  /** The connection is reset before any response: what a stopped server or a dropped link looks like. */
  | { readonly kind: "down" }
  /** The server answers this status with a plain error page, as a proxy in front of a failing app does. */
  | { readonly kind: "status"; readonly status: number }
  /** 200 with a body that is neither the JSON nor the XML the caller expects. */
  | { readonly kind: "garbage" }
  /** The request is answered normally, but only after `delayMs`. */
  | { readonly kind: "slow"; readonly delayMs: number }
  /** The request is carried out, but the connection drops before the answer: the caller cannot know it worked. */
  | { readonly kind: "lose-answer" }
  /** The request is carried out at once; the answer leaves only after `delayMs` (a caller with a shorter timeout gives up first). */
  | { readonly kind: "late-answer"; readonly delayMs: number };

export interface FaultOptions {
  /** How many matching requests the fault applies to; unlimited when absent. */
  readonly count?: number;
  /** Which requests it applies to (all when absent). */
  readonly match?: (method: string, path: string) => boolean;
}

interface Armed {
  readonly fault: Fault;
  remaining: number;
  readonly match: (method: string, path: string) => boolean;
}

export class FaultInjector {
  private armed: Armed | null = null;
  /** Requests a fault was applied to, by kind. */
  readonly applied = { down: 0, status: 0, garbage: 0, slow: 0, "lose-answer": 0, "late-answer": 0 };

  set(fault: Fault, options: FaultOptions = {}): void {
    this.armed = { fault, remaining: options.count ?? Infinity, match: options.match ?? (() => true) };
  }

  clear(): void {
    this.armed = null;
  }

  /** The fault for this request, if one is armed and matches; consumes one use. */
  take(method: string, path: string): Fault | undefined {
    const a = this.armed;
    if (!a || !a.match(method, path)) return undefined;
    a.remaining -= 1;
    if (a.remaining <= 0) this.armed = null;
    this.applied[a.fault.kind] += 1;
    return a.fault;
  }

  /**
   * Applies the fault for this request, if any. Returns true when the request
   * has been answered (or dropped) and must not be routed; a slow fault waits
   * and returns false so the request is then served normally.
   */
  async intercept(req: IncomingMessage, res: ServerResponse): Promise<boolean> {
    const path = (req.url ?? "/").split("?")[0] ?? "/";
    const fault = this.take(req.method ?? "GET", path);
    if (!fault) return false;
    switch (fault.kind) {
      case "down":
        req.socket.destroy();
        return true;
      case "status":
        res.writeHead(fault.status, { "content-type": "text/html" });
        res.end(`<html><body><h1>${fault.status}</h1>injected fault</body></html>`);
        return true;
      case "garbage":
        res.writeHead(200, { "content-type": "application/json" });
        res.end('{"results": [ {"_id": 1, "trunc');
        return true;
      case "slow":
        await new Promise((r) => setTimeout(r, fault.delayMs));
        return false;
      case "lose-answer":
        // Let the double do the work, then cut the line instead of answering.
        res.writeHead = (() => res) as unknown as typeof res.writeHead;
        res.end = (() => {
          req.socket.destroy();
          return res;
        }) as unknown as typeof res.end;
        return false;
      case "late-answer": {
        // The doubles answer with one end() call; holding it back holds back the whole answer.
        const end = res.end.bind(res) as (...args: unknown[]) => ServerResponse;
        res.end = ((...args: unknown[]) => {
          setTimeout(() => end(...args), fault.delayMs);
          return res;
        }) as unknown as typeof res.end;
        return false;
      }
    }
  }
}
