// A small TypeScript client of the repprofile HTTP API, written against the types that
// openapi-typescript generates from the server's OpenAPI document (api.d.ts).
// check_typescript_client.sh generates api.d.ts and type-checks this file with tsc --strict.
import type { components, paths } from "./api";

type ScoreRequest = components["schemas"]["ScoreRequest"];
type ScoreResponse =
  paths["/v1/score"]["post"]["responses"]["200"]["content"]["application/json"];

export async function score(
  baseUrl: string,
  apiKey: string,
  body: ScoreRequest,
): Promise<ScoreResponse> {
  const response = await fetch(`${baseUrl}/v1/score`, {
    method: "POST",
    headers: { Authorization: `Bearer ${apiKey}`, "Content-Type": "application/json" },
    body: JSON.stringify(body),
  });
  if (!response.ok) {
    throw new Error(`repprofile answered HTTP ${response.status}: ${await response.text()}`);
  }
  return (await response.json()) as ScoreResponse;
}

/** The POMP score (0-100) of one scale for the first scored candidate, or null. */
export function firstPomp(result: ScoreResponse, scale: string): number | null {
  const profile = result.profiles[0];
  if (profile === undefined) return null;
  const scaleScore = profile.scales[scale];
  return scaleScore?.pomp ?? null;
}

export const example: ScoreRequest = {
  questionnaire: "rep-types",
  candidates: [{ candidate_id: "anna", answers: { ctl01: 4, emp01: 5, rck01: 3 } }],
};
