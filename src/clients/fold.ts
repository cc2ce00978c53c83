import type { DomainEvent } from '../flow/catalogue.js';
import type { ClientEventData } from './events.js';

export type RegistrationStatus = 'none' | 'registering' | 'registered' | 'failed' | 'discarded';

/** A registration stream folded: what a new attempt may reuse, and the revision read. */
export interface RegistrationState {
  status: RegistrationStatus;
  revision: bigint | null;
  claimId: string | null;
  claimExpiresAt: number;
  registered: (ClientEventData<'ClientRegistered'> & { revision: bigint }) | null;
  reuses: number;
}

export const emptyRegistration: RegistrationState = {
  status: 'none',
  revision: null,
  claimId: null,
  claimExpiresAt: 0,
  registered: null,
  reuses: 0,
};

export function foldRegistration(events: DomainEvent[]): RegistrationState {
  let s = emptyRegistration;
  for (const e of events) {
    switch (e.type) {
      case 'ClientRegistrationStarted': {
        const d = e.data as ClientEventData<'ClientRegistrationStarted'>;
        s = { ...s, status: 'registering', claimId: d.claimId, claimExpiresAt: Date.parse(d.claimExpiresAt), registered: null };
        break;
      }
      case 'ClientRegistered': {
        const d = e.data as ClientEventData<'ClientRegistered'>;
        if (d.claimId === s.claimId) s = { ...s, status: 'registered', registered: { ...d, revision: e.revision } };
        break;
      }
      case 'ClientRegistrationFailed':
        if ((e.data as ClientEventData<'ClientRegistrationFailed'>).claimId === s.claimId) s = { ...s, status: 'failed' };
        break;
      case 'ClientRegistrationDiscarded':
        if (s.registered && (e.data as ClientEventData<'ClientRegistrationDiscarded'>).clientId === s.registered.clientId) {
          s = { ...s, status: 'discarded' };
        }
        break;
    }
    s = { ...s, revision: e.revision };
  }
  return s;
}
