/** The HTTP calls the data source makes, behind a small interface: Grafana's backend service in Grafana. */
import { getBackendSrv, isFetchError } from '@grafana/runtime';
import { lastValueFrom } from 'rxjs';

export interface HttpResponse<T> {
  status: number;
  data: T;
}

export interface HttpClient {
  /** GET `url`; resolves with any HTTP status, rejects only when no answer came (network, refused, timeout). */
  get<T>(url: string, headers?: Record<string, string>): Promise<HttpResponse<T>>;
}

export const grafanaHttp: HttpClient = {
  async get<T>(url: string, headers: Record<string, string> = {}): Promise<HttpResponse<T>> {
    try {
      const response = await lastValueFrom(
        getBackendSrv().fetch<T>({ url, method: 'GET', headers, showErrorAlert: false, showSuccessAlert: false })
      );
      return { status: response.status, data: response.data };
    } catch (error) {
      if (isFetchError(error) && error.status > 0) {
        return { status: error.status, data: error.data as T };
      }
      throw error;
    }
  },
};
