import { EntityType, RecordFieldValue } from './crm-model';

/*
 * Deterministic fake data. Values are derived from the record's sequence number rather than
 * a RNG so that seeding 20k records stays a tight loop and a failing test's data is reproducible.
 */

const FIRST_NAMES = ['Ada', 'Ben', 'Cleo', 'Dev', 'Elena', 'Farid', 'Grace', 'Hiro', 'Ines', 'Jonas', 'Kemi', 'Luca', 'Mara', 'Nils', 'Olu', 'Priya', 'Quinn', 'Rosa', 'Sami', 'Tess'];
const LAST_NAMES = ['Adler', 'Brooks', 'Costa', 'Dube', 'Eriksen', 'Fischer', 'Garcia', 'Haddad', 'Ito', 'Jensen', 'Kowalski', 'Lindqvist', 'Moreau', 'Novak', 'Okafor', 'Patel', 'Quispe', 'Rossi', 'Sato', 'Tanaka'];
const COMPANY_WORDS = ['Northwind', 'Bluebird', 'Granite', 'Lumen', 'Harbor', 'Juniper', 'Kestrel', 'Meridian', 'Orchid', 'Summit'];
const COMPANY_KINDS = ['Labs', 'Logistics', 'Foods', 'Analytics', 'Systems', 'Partners', 'Health', 'Studios'];
const DEAL_KINDS = ['New business', 'Renewal', 'Upsell', 'Pilot', 'Expansion'];
const DEAL_STAGES = ['appointment_scheduled', 'qualified', 'proposal_sent', 'negotiation', 'closed_won', 'closed_lost'];

type GeneratedFields = Record<string, RecordFieldValue>;

/** Entity-specific fields for the `sequence`-th record (1-based) of an entity type. */
export function generateRecordFields(entity: EntityType, sequence: number): GeneratedFields {
  const i = sequence - 1;
  switch (entity) {
    case 'contacts': {
      const first = FIRST_NAMES[i % FIRST_NAMES.length];
      const last = LAST_NAMES[Math.floor(i / FIRST_NAMES.length) % LAST_NAMES.length];
      return { name: `${first} ${last}`, email: `${first}.${last}.${sequence}@example.com`.toLowerCase() };
    }
    case 'companies': {
      const word = COMPANY_WORDS[i % COMPANY_WORDS.length];
      const kind = COMPANY_KINDS[Math.floor(i / COMPANY_WORDS.length) % COMPANY_KINDS.length];
      return { name: `${word} ${kind} ${sequence}`, domain: `${word}-${kind}-${sequence}.example.com`.toLowerCase() };
    }
    case 'deals':
      return {
        name: `${DEAL_KINDS[i % DEAL_KINDS.length]} #${sequence}`,
        // A cheap multiplicative scramble so amounts look varied but stay reproducible.
        amount: 1000 + ((sequence * 7919) % 99000),
        stage: DEAL_STAGES[i % DEAL_STAGES.length],
      };
  }
}
