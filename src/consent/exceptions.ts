/**
 * Exceptions to confidentiality are law, not consent (docs/consent-and-privacy.md, section 3): a session
 * disclosed under one carries the matching v3 PurposeOfUse, in its security labels and in the AuditEvent.
 */

/** Session `exception.basis` -> v3-ActReason purpose of use. */
export const EXCEPTION_PURPOSE: Readonly<Record<string, string>> = {
  // 45 CFR 164.512(j): to prevent or lessen a serious and imminent threat to a person.
  'danger-to-self': 'THREAT',
  'danger-to-others': 'THREAT',
  // 45 CFR 164.512(e): judicial and administrative proceedings.
  'court-order': 'HLEGAL',
  emergency: 'ETREAT',
};

/** The purpose of use of ordinary (consented or clinician-to-clinician) disclosures. */
export const TREATMENT = 'TREAT';
