import { readFile } from "node:fs/promises";
import { createServer, type Server } from "node:https";
import type { AddressInfo } from "node:net";
import type { AuthorizationV1Api } from "@kubernetes/client-node";
import type { Logger } from "pino";
import { API_GROUP, approvalPolicy, imagePolicy, type StrategyFile } from "../api/index.ts";
import { readBody } from "../http/body.ts";
import { readCertificatePair, reloadOnChange } from "../http/certificate-files.ts";
import { sendJson } from "../http/server.ts";
import {
  accessNeeded,
  admitRelease,
  approvalsAdded,
  type AccessNeeded,
  type AdmissionDecision,
} from "./release-admission.ts";
import { admissionResponse, parseAdmissionReview, type AdmissionRequest } from "./review.ts";

// The admission webhook, served by the controller over HTTPS on its own port. The API
// server calls it on every CREATE and UPDATE of a Release (MutatingWebhookConfiguration,
// failurePolicy Fail): it stamps who did what, and refuses what the trust model forbids.

export const ADMISSION_PATH = "/admission/releases";

export interface AdmissionWebhookOptions {
  port: number;
  host: string;
  /** The serving certificate: PEM files re-read when they change, or a pair given (and replaced with setCertificate). */
  certificate: { certFile: string; keyFile: string } | { pair: { cert: string; key: string } };
  maxBodyBytes: number;
  /** A CA (PEM file): only clients with a certificate it signed get past the TLS handshake. */
  clientCaFile?: string;
  stampKey: () => Promise<Buffer>;
  strategy: StrategyFile;
  /** For SubjectAccessReviews: may this user approve? */
  authorization: Pick<AuthorizationV1Api, "createSubjectAccessReview">;
  logger: Logger;
  clock?: () => Date;
}

export interface AdmissionWebhook {
  port: number;
  url: string;
  /** Serves this certificate from the next TLS handshake on (no restart). */
  setCertificate(pair: { cert: string; key: string }): void;
  close(): Promise<void>;
}

export async function startAdmissionWebhook(options: AdmissionWebhookOptions): Promise<AdmissionWebhook> {
  const log = options.logger.child({ component: "admission" });
  const clock = options.clock ?? (() => new Date());
  const { certificate } = options;
  const clientCaFile = options.clientCaFile;
  // The client CA goes into every secure context: a certificate reload must not drop it.
  const withClientCa = async <T extends object>(pair: T) =>
    clientCaFile === undefined ? pair : { ...pair, ca: await readFile(clientCaFile) };
  const readPair = async () =>
    withClientCa("pair" in certificate ? certificate.pair : await readCertificatePair(certificate));
  const clientAuthentication =
    clientCaFile === undefined ? {} : { requestCert: true, rejectUnauthorized: true };
  const serverOptions = { ...(await readPair()), ...clientAuthentication };
  const server: Server = createServer(serverOptions, (request, response) => {
    const path = (request.url ?? "/").split("?")[0];
    if (request.method !== "POST" || path !== ADMISSION_PATH) {
      sendJson(response, 404, { error: `no route for ${request.method} ${path}` });
      return;
    }
    void (async () => {
      const body = await readBody(request, options.maxBodyBytes);
      if (body === undefined) {
        sendJson(response, 413, { error: `the body is larger than ${options.maxBodyBytes} bytes` });
        return;
      }
      let json: unknown;
      try {
        json = JSON.parse(body.toString("utf8"));
      } catch (error) {
        sendJson(response, 400, { error: `the body is not JSON: ${(error as Error).message}` });
        return;
      }
      const parsed = parseAdmissionReview(json);
      if (!parsed.ok) {
        sendJson(response, 400, { error: parsed.message });
        return;
      }
      const decision = await review(parsed.review.request);
      sendJson(response, 200, admissionResponse(parsed.review.request.uid, decision));
    })().catch((error: unknown) => {
      log.error({ err: error }, "admission review failed");
      if (!response.headersSent) sendJson(response, 500, { error: (error as Error).message });
      else response.destroy();
    });
  });

  async function review(request: AdmissionRequest): Promise<AdmissionDecision> {
    const release = `${request.namespace}/${request.name}`;
    if ((request.operation !== "CREATE" && request.operation !== "UPDATE") || request.subResource)
      return { allowed: true, patch: [], warnings: [], stamped: [] };
    if (!request.name)
      return {
        allowed: false,
        code: 400,
        message:
          "a Release needs metadata.name (generateName cannot be stamped: the name is part of the stamp)",
      };
    const user = { user: request.userInfo.username, groups: request.userInfo.groups };
    const input = {
      operation: request.operation,
      namespace: request.namespace,
      name: request.name,
      user,
      object: request.object,
      ...(request.oldObject === undefined || request.oldObject === null
        ? {}
        : { oldObject: request.oldObject }),
      now: clock().toISOString(),
      key: await options.stampKey(),
      separationOfDuties: (spec: Parameters<typeof approvalPolicy>[0]) =>
        approvalPolicy(spec, options.strategy).separationOfDuties,
      allowedImages: (spec: Parameters<typeof imagePolicy>[0]) => imagePolicy(spec, options.strategy),
    };
    let mayApprove: boolean | undefined;
    if (approvalsAdded(input) > 0) {
      try {
        mayApprove = await allowed(request, {
          group: API_GROUP,
          resource: "releases",
          verb: "approve",
          name: request.name,
        });
      } catch (error) {
        log.error({ err: error, release, user: user.user }, "SubjectAccessReview failed");
        return {
          allowed: false,
          code: 403,
          message: `could not ask the API server whether ${user.user} may approve (SubjectAccessReview failed: ${(error as Error).message}); try again`,
        };
      }
    }
    let denied: AccessNeeded[];
    try {
      const needed = accessNeeded(input);
      const answers = await Promise.all(needed.map((access) => allowed(request, access)));
      denied = needed.filter((_, index) => !answers[index]);
    } catch (error) {
      log.error({ err: error, release, user: user.user }, "SubjectAccessReview failed");
      return {
        allowed: false,
        code: 403,
        message: `could not ask the API server what ${user.user} may do (SubjectAccessReview failed: ${(error as Error).message}); try again`,
      };
    }
    const decision = admitRelease(input, mayApprove, denied);
    if (decision.allowed)
      log.info(
        { release, operation: request.operation, user: user.user, stamped: decision.stamped },
        "admitted Release",
      );
    else
      log.warn(
        { release, operation: request.operation, user: user.user, refusal: decision.message },
        "refused Release",
      );
    return decision;
  }

  /** RBAC's answer for the user of `request` (groups, uid and extra included) in its namespace. */
  async function allowed(request: AdmissionRequest, access: AccessNeeded): Promise<boolean> {
    const { userInfo } = request;
    const answer = await options.authorization.createSubjectAccessReview({
      body: {
        apiVersion: "authorization.k8s.io/v1",
        kind: "SubjectAccessReview",
        spec: {
          user: userInfo.username,
          groups: userInfo.groups,
          ...(userInfo.uid ? { uid: userInfo.uid } : {}),
          ...(userInfo.extra ? { extra: userInfo.extra } : {}),
          resourceAttributes: { ...access, namespace: request.namespace },
        },
      },
    });
    return answer.status?.allowed === true;
  }

  // A rotated certificate file (cert-manager, or the Secret updated) is picked up without a restart.
  const stopReloading =
    "pair" in certificate
      ? () => undefined
      : await reloadOnChange(
          certificate,
          (pair) => {
            void withClientCa(pair)
              .then((context) => server.setSecureContext(context))
              .catch((error: unknown) =>
                log.warn({ err: error }, "could not read trust.webhook.clientCAFile"),
              );
          },
          { log, what: "the webhook's serving certificate" },
        );

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port, options.host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  return {
    port,
    url: `https://${options.host}:${port}${ADMISSION_PATH}`,
    setCertificate: (pair) => {
      if (clientCaFile === undefined) {
        server.setSecureContext(pair);
        return;
      }
      void withClientCa(pair)
        .then((context) => server.setSecureContext(context))
        .catch((error: unknown) => log.warn({ err: error }, "could not read trust.webhook.clientCAFile"));
    },
    close: () =>
      new Promise<void>((resolve) => {
        stopReloading();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
