import type { LedgerClient, WriteResult } from './ledger-client.js';
import { claims, confirmations, denials, type ScenarioClaim } from './september-2020.scenario.js';

interface ActorAnswer {
  actorId: string;
  name: string;
  status: string;
  attributions: Array<{ state: string; status: string; denials: number; confirmations: number }>;
}

interface DisputeAnswer {
  entries: Array<{ kind: string; party: { name: string }; statedAt: string; text: string }>;
}

export interface DemoResult {
  readonly statuses: Record<ScenarioClaim['key'], string>;
  readonly zirconiumDisputes: DisputeAnswer['entries'];
}

/**
 * Loads the September 2020 scenario through the HTTP API and prints each actor's status and Zirconium's
 * dispute history. Reads pass `minPosition` of the last write, so they see every write of the demo.
 */
export async function runDemo(client: LedgerClient, print: (line: string) => void): Promise<DemoResult> {
  const claimIds = new Map<ScenarioClaim['key'], string>();
  let last: WriteResult | undefined;
  for (const claim of claims) {
    last = await client.post('/v1/claims', claim.body);
    claimIds.set(claim.key, last.claimId);
    print(`claim         ${claim.key.padEnd(11)} ${last.claimId}  position ${last.position}`);
  }
  for (const denial of denials) {
    last = await client.post(`/v1/claims/${claimIds.get(denial.claim)}/denials`, denial.body);
    print(`denial        ${denial.claim.padEnd(11)} position ${last.position}`);
  }
  for (const confirmation of confirmations) {
    last = await client.post(
      `/v1/claims/${claimIds.get(confirmation.claim)}/confirmations`,
      confirmation.body,
    );
    print(`confirmation  ${confirmation.claim.padEnd(11)} position ${last.position}`);
  }
  const minPosition = last!.position;

  print('');
  print('actor        status      attributions');
  const statuses = {} as Record<ScenarioClaim['key'], string>;
  for (const claim of claims) {
    const actor = await client.get<ActorAnswer>(`/v1/actors/${claim.key}?minPosition=${minPosition}`);
    statuses[claim.key] = actor.status;
    const attributions = actor.attributions
      .map((a) => `${a.state} ${a.status} (${a.denials} denied, ${a.confirmations} confirmed)`)
      .join(', ');
    print(`${actor.name.padEnd(12)} ${actor.status.padEnd(11)} ${attributions}`);
  }

  const disputes = await client.get<DisputeAnswer>(
    `/v1/actors/zirconium/disputes?minPosition=${minPosition}`,
  );
  print('');
  print('Zirconium: dispute history');
  for (const entry of disputes.entries) {
    print(`  ${entry.statedAt}  ${entry.kind.padEnd(12)} ${entry.party.name}: ${entry.text}`);
  }
  return { statuses, zirconiumDisputes: disputes.entries };
}
