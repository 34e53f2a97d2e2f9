import type { z } from "zod";

/** Thrown at boot when the environment does not satisfy a config schema. */
export class ConfigError extends Error {
  readonly issues: readonly string[];

  constructor(issues: readonly string[]) {
    super(`invalid configuration:\n  ${issues.join("\n  ")}`);
    this.name = "ConfigError";
    this.issues = issues;
  }
}

export function formatIssues(error: z.ZodError): string[] {
  return error.issues.map((issue) => {
    const field = issue.path.length > 0 ? issue.path.join(".") : "(root)";
    return `${field}: ${issue.message}`;
  });
}

/** Why a listener could not start, when the address chosen by a setting is the cause. */
const ADDRESS_ERRORS: Record<string, string> = {
  EADDRINUSE: "is already in use",
  EACCES: "needs privileges this process lacks",
  EADDRNOTAVAIL: "is not an address of this machine",
};

/**
 * A listen() failure caused by the configured address, as a ConfigError naming `setting`, so it
 * fails the boot like any bad value (exit 2, no stack); any other error comes back unchanged.
 */
export function listenError(error: unknown, setting: string, address: string, alternatives = ""): unknown {
  const reason = ADDRESS_ERRORS[(error as NodeJS.ErrnoException | undefined)?.code ?? ""];
  if (!reason) return error;
  return new ConfigError([`${setting}: ${address} ${reason}; set another port${alternatives}`]);
}
