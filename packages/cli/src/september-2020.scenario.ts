/**
 * The September 2020 scenario of DESIGN §1, as the requests an analyst would send: Microsoft's claims about
 * Zirconium (China), Strontium (Russia) and Phosphorus (Iran), the denials from Beijing and Moscow, and the
 * US Department of Homeland Security's confirmation with its caveat.
 */

const microsoft = { id: 'microsoft', name: 'Microsoft', kind: 'vendor' } as const;
const tomBurt = { name: 'Tom Burt', title: 'Corporate Vice President, Customer Security & Trust' };
const microsoftSource = {
  url: 'https://blogs.microsoft.com/on-the-issues/2020/09/10/cyberattacks-us-elections-trump-biden/',
  title: 'New cyberattacks targeting U.S. elections',
  publishedAt: '2020-09-10T13:00:00Z',
};
const statedByMicrosoft = '2020-09-10T13:00:00Z';

export interface ScenarioClaim {
  readonly key: 'zirconium' | 'strontium' | 'phosphorus';
  readonly body: Record<string, unknown>;
}

export const claims: readonly ScenarioClaim[] = [
  {
    key: 'zirconium',
    body: {
      claimant: microsoft,
      spokesperson: tomBurt,
      actor: { name: 'Zirconium', aliases: ['APT31'] },
      attribution: { state: 'CN', relation: 'operating-from' },
      targets: [
        'people associated with the Joe Biden for President campaign',
        'international affairs leaders',
      ],
      summary:
        'Zirconium, operating from China, has attacked high-profile individuals associated with the election, ' +
        'including people associated with the Joe Biden for President campaign.',
      campaign: '2020 US presidential election',
      source: microsoftSource,
      statedAt: statedByMicrosoft,
    },
  },
  {
    key: 'strontium',
    body: {
      claimant: microsoft,
      spokesperson: tomBurt,
      actor: { name: 'Strontium', aliases: ['Fancy Bear', 'APT28'] },
      attribution: { state: 'RU', relation: 'operating-from' },
      targets: [
        'more than 200 organisations, including political campaigns, advocacy groups, parties and consultants',
      ],
      summary: 'Strontium, operating from Russia, has attacked more than 200 organisations.',
      campaign: '2020 US presidential election',
      source: microsoftSource,
      statedAt: statedByMicrosoft,
    },
  },
  {
    key: 'phosphorus',
    body: {
      claimant: microsoft,
      spokesperson: tomBurt,
      actor: { name: 'Phosphorus', aliases: ['APT35', 'Charming Kitten'] },
      attribution: { state: 'IR', relation: 'operating-from' },
      targets: ['personal accounts of people associated with the Donald J. Trump for President campaign'],
      summary:
        'Phosphorus, operating from Iran, has attempted to access personal accounts of people associated ' +
        'with the Donald J. Trump for President campaign.',
      campaign: '2020 US presidential election',
      source: microsoftSource,
      statedAt: statedByMicrosoft,
    },
  },
];

export const denials: ReadonlyArray<{
  readonly claim: ScenarioClaim['key'];
  readonly body: Record<string, unknown>;
}> = [
  {
    claim: 'zirconium',
    body: {
      denier: {
        id: 'cn-mfa',
        name: "Ministry of Foreign Affairs of the People's Republic of China",
        kind: 'government',
      },
      spokesperson: { name: 'Wang Wenbin', title: 'Spokesperson' },
      statement:
        'China is firmly opposed to all forms of cyber attacks and has no interest in the US election.',
      statedAt: '2020-09-11T08:00:00Z',
    },
  },
  {
    claim: 'strontium',
    body: {
      denier: { id: 'ru-kremlin', name: 'Kremlin', kind: 'government' },
      spokesperson: { name: 'Dmitry Peskov', title: 'Press Secretary' },
      statement: 'Russia has not interfered and does not interfere in the elections of other countries.',
      statedAt: '2020-09-11T10:00:00Z',
    },
  },
];

const dhs = { id: 'us-dhs', name: 'US Department of Homeland Security', kind: 'government' } as const;

export const confirmations: ReadonlyArray<{
  readonly claim: ScenarioClaim['key'];
  readonly body: Record<string, unknown>;
}> = claims.map((claim) => ({
  claim: claim.key,
  body: {
    confirmer: dhs,
    official: {
      name: 'Christopher Krebs',
      title: 'Director, Cybersecurity and Infrastructure Security Agency',
    },
    statement: "The warning is consistent with the intelligence community's assessment.",
    caveats: ['No election systems were affected.'],
    statedAt: '2020-09-10T20:00:00Z',
  },
}));

/** What the demo must show once the scenario is loaded. */
export const expectedStatuses = {
  zirconium: 'contested',
  strontium: 'contested',
  phosphorus: 'confirmed',
} as const;
