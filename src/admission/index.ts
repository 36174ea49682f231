// The admission webhook: who created a Release and who wrote each spec.control entry,
// as the API server authenticated them, stamped with an HMAC the controller verifies.
export { accessNeeded, admitRelease, approvalsAdded, describeAccess } from "./release-admission.ts";
export type {
  AccessNeeded,
  AdmissionDecision,
  AdmissionInput,
  JsonPatchOperation,
} from "./release-admission.ts";
export { admissionResponse, admissionReviewSchema, parseAdmissionReview } from "./review.ts";
export { ADMISSION_PATH, startAdmissionWebhook } from "./webhook-server.ts";
export type { AdmissionWebhook, AdmissionWebhookOptions } from "./webhook-server.ts";
export { servingCertificateNames, planCertificates, caBundle } from "./certificate-plan.ts";
export type { CertificateFacts, CertificateNames, CertificatePlan } from "./certificate-plan.ts";
export { certificateFacts, issueCa, issueServing } from "./certificate-authority.ts";
export type { PemPair } from "./certificate-authority.ts";
export { SelfManagedCertificate } from "./self-managed-certificate.ts";
