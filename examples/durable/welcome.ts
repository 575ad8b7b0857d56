/**
 * A runnable durable workflow: a signup flow with memoised steps, a child workflow and a retry.
 *
 *   npm run build
 *   export DURUN_REDIS_URL=redis://127.0.0.1:6379        # any Redis 6.2+
 *   node dist/cli/main.js worker --import examples/durable/welcome.ts
 *   node dist/cli/main.js emit welcome --input '{"userId":"u1","email":"u1@example.com"}' --wait
 *   node dist/cli/main.js runs                                      # then: node dist/cli/main.js runs <run-id>
 *
 * The flaky mail provider fails the first attempt of every "send-email" run: the run is retried
 * after a short backoff, and the steps that already succeeded are not executed again.
 */
import { defineWorkflow, NonRetriableError, type WorkflowContext } from "durun";

interface Signup {
  userId: string;
  email: string;
}

interface Email {
  to: string;
  template: string;
}

/** A stand-in for a mail provider that times out now and then (here: on every first attempt). */
async function deliver(to: string, template: string, attempt: number): Promise<string> {
  await new Promise((r) => setTimeout(r, 20));
  if (attempt === 1) throw new Error(`mail provider timed out sending "${template}" to ${to}`);
  return `msg-${template}-${to}`;
}

/** Child workflow: render and deliver one email, with retries and backoff. */
export const sendEmail = defineWorkflow(
  "send-email",
  { maxConcurrency: 10, maxAttempts: 4, retry: { backoffMs: 200, factor: 2, maxBackoffMs: 2000 } },
  async (ctx: WorkflowContext<Email>) => {
    if (!ctx.input.to.includes("@")) throw new NonRetriableError(`not an email address: ${ctx.input.to}`);
    const body = await ctx.step.run("render", () => `Welcome aboard, ${ctx.input.to}!`);
    const messageId = await ctx.step.run("deliver", () => deliver(ctx.input.to, ctx.input.template, ctx.run.attempt), { timeoutMs: 5000 });
    return { messageId, length: body.length, attempts: ctx.run.attempt };
  },
);

/** Parent workflow: create the profile, send the welcome email through the child, record it. */
export const welcome = defineWorkflow("welcome", { maxConcurrency: 10 }, async (ctx: WorkflowContext<Signup>) => {
  const profile = await ctx.step.run("create-profile", () => ({ userId: ctx.input.userId, plan: "free" }));
  const email = await ctx.step.runWorkflow<Email, { messageId: string; attempts: number }>(
    "send-welcome-email",
    "send-email",
    { to: ctx.input.email, template: "welcome" },
    { timeoutMs: 30_000 },
  );
  await ctx.step.run("mark-welcomed", () => true);
  return { userId: profile.userId, plan: profile.plan, messageId: email.messageId, emailAttempts: email.attempts };
});
