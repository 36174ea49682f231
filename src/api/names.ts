import { z } from "zod";

// Kubernetes name rules, as the API server applies them, so a Release that
// passes here never fails later when the controller creates objects from it.

/** RFC 1123 label: Deployment, Service, container and HTTPRoute names. */
export const dnsLabelSchema = z
  .string()
  .min(1)
  .max(63)
  .regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, {
    message: "must be a DNS-1123 label: lower-case letters, digits and '-', starting and ending alphanumeric",
  });

/** RFC 1123 subdomain: most object names. */
export const dnsSubdomainSchema = z
  .string()
  .min(1)
  .max(253)
  .regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/, {
    message: "must be a DNS-1123 subdomain: lower-case alphanumeric parts separated by '.' or '-'",
  });

/** A label value: empty, or up to 63 alphanumerics with '-', '_' or '.' inside. */
export const labelValueSchema = z
  .string()
  .max(63)
  .regex(/^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/, {
    message:
      "must be a valid label value: up to 63 alphanumerics, '-', '_' or '.', starting and ending alphanumeric",
  });

/** A label key as Prometheus and Alertmanager use it. */
export const promLabelNameSchema = z
  .string()
  .min(1)
  .max(128)
  .regex(/^[a-zA-Z_][a-zA-Z0-9_]*$/, { message: "must be a Prometheus label name ([a-zA-Z_][a-zA-Z0-9_]*)" });

/** The label that marks Glidepath's own notifications sent through Alertmanager (the hook ignores them). */
export const OWN_NOTIFICATION_LABEL = "glidepath_notification";
