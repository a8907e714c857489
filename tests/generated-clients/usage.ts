// Uses the TypeScript types openapi-typescript generates from the sandbox's /openapi.json
// (`types.ts`, written beside this file by .ci/generated-clients.sh) and is checked with
// `tsc --noEmit --strict`. The `@ts-expect-error` lines fail the check if the types become too
// loose to catch a wrong body.
import type { components, operations, paths, webhooks } from "./types";

type Schemas = components["schemas"];
type WebhookEvent = Schemas["WebhookEvent"];

// A create request: the steps are a union told apart by `primitive`.
export const create: Schemas["CreateSessionRequest"] = {
  steps: [
    { primitive: "identify", params: { blocks: ["first_name", "last_name"] }, gate: true },
    { primitive: "age_verify", params: { min_age: 21 } },
    { primitive: "light_sign", params: { terms: "I agree." } },
  ],
  client_reference_id: "order_4815",
  expires_in: 900,
};

// @ts-expect-error light_sign needs its params (terms).
export const missingTerms: Schemas["Step"] = { primitive: "light_sign" };

// @ts-expect-error identify takes no min_age.
export const wrongParams: Schemas["Step"] = { primitive: "identify", params: { min_age: 3 } };

// What the create answers, from the path's 200 response.
type Created = paths["/v1/sessions"]["post"]["responses"][200]["content"]["application/json"];
export function sessionUrl(created: Created): string {
  return created.url;
}

// The error model of every failed call.
type NotFound = operations["getSession"]["responses"][404]["content"]["application/json"];
export function errorCode(e: NotFound): string {
  return `${e.code}: ${e.error}`;
}

// A webhook receiver: the event union narrows on `event`.
export function describe(event: WebhookEvent): string {
  switch (event.event) {
    case "step.completed":
      return `${event.data.session_id} step ${event.data.stage} (${event.data.primitive}) → ${event.data.audit_id}`;
    case "session.completed":
    case "session.stopped":
    case "session.failed":
    case "session.expired":
      return `${event.data.session_id} ended ${event.data.status} ${event.data.reason ?? ""}`;
    default: {
      const unknown: never = event;
      return unknown;
    }
  }
}

// Each documented webhook: its body and its four X-UIP-* headers.
type StepCompletedHook = NonNullable<webhooks["step.completed"]["post"]>;
export function receive(
  headers: StepCompletedHook["parameters"]["header"],
  body: StepCompletedHook["requestBody"]["content"]["application/json"],
): string {
  const signed = `${headers["X-UIP-Timestamp"]}.${JSON.stringify(body)}`;
  return `${headers["X-UIP-Event"]} ${headers["X-UIP-Delivery-Id"]} ${headers["X-UIP-Signature"]} ${signed.length}`;
}

export const expiredHeaders: NonNullable<webhooks["session.expired"]["post"]>["parameters"]["header"] = {
  "X-UIP-Event": "session.expired",
  "X-UIP-Timestamp": "1780000000",
  "X-UIP-Signature": "0".repeat(64),
  "X-UIP-Delivery-Id": "sess_7Hq2LmZ9pX4rT1vB8nC3dK6w:session.expired",
};

// An audit record's proof is one of the four named shapes.
export function proofKind(record: Schemas["AuditRecord"]): string {
  const proof: Schemas["Proof"] = record.proof;
  if ("documents" in proof) return `sign of ${proof.documents.length} documents`;
  if ("signature" in proof) return "light_sign";
  if ("claims_digest" in proof) return `identify of ${proof.blocks.join(", ")}`;
  return `age_verify ${proof.satisfied} (${proof.min_age})`;
}
