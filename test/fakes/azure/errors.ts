/**
 * Azure OpenAI's own errors, in the shape its gateway answers them (`{"error":{"code","message"}}`, code often a
 * stringified status). Request-body validation errors are OpenAI's (`../openai/errors.ts`): Azure passes those
 * through from the model service unchanged.
 */

export class AzureError extends Error {
  readonly status: number;
  readonly body: string;
  constructor(status: number, error: Record<string, unknown>) {
    super(String(error.message));
    this.status = status;
    this.body = JSON.stringify({ error: error });
  }
}

/** Unknown path, and (as the real service does) a request without `api-version`: 404, not 400. */
export const resourceNotFound = (): AzureError => new AzureError(404, { code: '404', message: 'Resource not found' });

export const apiVersionNotSupported = (): AzureError => new AzureError(400, { code: 'BadRequest', message: 'API version not supported' });

/** A missing or wrong `api-key`. */
export const invalidKey = (): AzureError =>
  new AzureError(401, {
    code: '401',
    message:
      'Access denied due to invalid subscription key or wrong API endpoint. Make sure to provide a valid key for an ' +
      'active subscription and use a correct regional API endpoint for your resource.',
  });

/** No `api-key` but an `Authorization: Bearer` header: Azure reads it as an Entra ID token, and this one is not. */
export const invalidBearerToken = (): AzureError =>
  new AzureError(401, {
    code: '401',
    message: 'Unauthorized. Access token is missing, invalid, audience is incorrect (https://cognitiveservices.azure.com), or have expired.',
  });

export const deploymentNotFound = (): AzureError =>
  new AzureError(404, {
    code: 'DeploymentNotFound',
    message: 'The API deployment for this resource does not exist. If you created the deployment within the last 5 minutes, please wait a moment and try again.',
  });

/** A chat call to an embeddings deployment, or the reverse. */
export const operationNotSupported = (operation: string, model: string): AzureError =>
  new AzureError(400, {
    code: 'OperationNotSupported',
    message:
      `The ${operation} operation does not work with the specified model, ${model}. Please choose different model and try again. ` +
      'You can learn more about which models can be used with each operation here: https://go.microsoft.com/fwlink/?linkid=2197993.',
  });

/** The prompt tripped the content filter: OpenAI-like fields plus Azure's `innererror` with the category results. */
export function promptFiltered(results: Record<string, unknown>): AzureError {
  return new AzureError(400, {
    message:
      "The response was filtered due to the prompt triggering Azure OpenAI's content management policy. Please modify your " +
      'prompt and retry. To learn more about our content filtering policies please read our documentation: https://go.microsoft.com/fwlink/?linkid=2198766',
    type: null,
    param: 'prompt',
    code: 'content_filter',
    status: 400,
    innererror: { code: 'ResponsibleAIPolicyViolation', content_filter_result: results },
  });
}

/** The error an injected `status` fault answers with. */
export function statusFaultError(status: number, message: string | undefined, operation: string, apiVersion: string, retryAfter: number | undefined): AzureError {
  if (status === 429) {
    return new AzureError(429, {
      code: '429',
      message:
        message ??
        `Requests to the ${operation} Operation under Azure OpenAI API version ${apiVersion} have exceeded token rate limit of your ` +
          `current OpenAI S0 pricing tier. Please retry after ${retryAfter ?? 60} seconds. Please go here: https://aka.ms/oai/quotaincrease ` +
          'if you would like to further increase the default rate limit.',
    });
  }
  if (status >= 500) {
    return new AzureError(status, { code: 'InternalServerError', message: message ?? 'The service is temporarily unable to process your request. Please try again later.' });
  }
  return new AzureError(status, { code: String(status), message: message ?? `Injected fault: status ${status}.` });
}
