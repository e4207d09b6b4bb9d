// The synthetic generator's whole vocabulary: a few hundred invented names and words, so a small model can learn it.
// No name contains another (tests check it), so sub-EM never confuses two entities of one document.

export const FIRST_NAMES = [
  "Ada", "Bruno", "Cleo", "Dario", "Elin", "Farid", "Greta", "Hugo", "Ines", "Jonas", "Kira", "Lars",
  "Mira", "Nils", "Oona", "Pavel", "Rosa", "Sven", "Tilda", "Umar", "Vera", "Wim", "Yara", "Zeno",
] as const;

export const LAST_NAMES = [
  "Ambrose", "Brenn", "Castell", "Dorsey", "Ekberg", "Falk", "Gault", "Hollis", "Ivarsen", "Jessop", "Kestrel",
  "Lindqvist", "Morrow", "Novak", "Orsini", "Pellham", "Quill", "Renner", "Sato", "Thorne", "Ulvang", "Varga",
  "Wexley", "Yoder",
] as const;

export const COMPANY_STEMS = [
  "Altima", "Borvex", "Corvane", "Deltrix", "Elmora", "Fennix", "Gravon", "Halcyra", "Irvex", "Jorvik",
  "Kalmor", "Lumera", "Mendal", "Nexora", "Orvello", "Pyrrha", "Quorra", "Rivona", "Solvane", "Tervix",
] as const;

export const COMPANY_KINDS = ["Steel", "Foods", "Labs", "Motors", "Textiles", "Energy"] as const;

export const CITIES = [
  "Arlen", "Brask", "Corrin", "Dunmere", "Eskar", "Fallow", "Gilden", "Harrow", "Istra", "Jaspen",
  "Kelmoor", "Lorne", "Marisk", "Norvel", "Oskaven", "Pembry", "Quenby", "Ravel", "Selwyn", "Tarrow",
  "Ulmar", "Veldt", "Wistow", "Yarrow", "Zennor", "Ashby", "Bellam", "Cresk", "Dravo", "Emmet",
] as const;

export const PROFESSIONS = [
  "engineer", "teacher", "pilot", "chemist", "architect", "surgeon", "baker", "lawyer", "painter", "farmer",
] as const;

/** Company metrics, all in million dollars. */
export const METRICS = ["revenue", "profit", "costs"] as const;

export const BIRTH_YEARS = { lo: 1940, hi: 1999 };
export const FOUNDING_YEARS = { lo: 1900, hi: 2010 };
export const METRIC_YEARS = { lo: 2015, hi: 2024 };

export type Metric = (typeof METRICS)[number];

/** Every person name the vocabulary can form ("Ada Brenn"), 576 in all. */
export const PERSON_NAMES: readonly string[] = FIRST_NAMES.flatMap((f) => LAST_NAMES.map((l) => `${f} ${l}`));

/** Every company name ("Borvex Steel"), 120 in all. */
export const COMPANY_NAMES: readonly string[] = COMPANY_STEMS.flatMap((s) => COMPANY_KINDS.map((k) => `${s} ${k}`));
