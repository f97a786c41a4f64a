package dev.bucketflow.admin;

import jakarta.servlet.RequestDispatcher;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import org.eclipse.jetty.http.HttpFields;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.handler.ErrorHandler;
import org.eclipse.jetty.util.BufferUtil;

/**
 * Jetty's own refusals (a request it cannot parse, before any route runs: a bad escape in the path,
 * an oversized header) as the API's JSON error instead of Jetty's HTML page.
 */
final class JsonErrorHandler extends ErrorHandler {

  /**
   * A request Jetty could not parse at all (bad request line, oversized header): no handler ran.
   */
  @Override
  public ByteBuffer badMessageError(int status, String reason, HttpFields.Mutable fields) {
    fields.put(HttpHeader.CONTENT_TYPE, "application/json");
    String text =
        "the request could not be read (HTTP "
            + status
            + (reason == null ? "" : ": " + reason)
            + ")"
            + (status == 400
                ? "; a NUL (%00) or a malformed %-escape in the path is refused before any route runs"
                : "");
    return BufferUtil.toBuffer(
        AdminServer.errorBody(status == 431 ? "header_too_large" : "bad_request", text).toString(),
        StandardCharsets.UTF_8);
  }

  @Override
  public void handle(
      String target, Request baseRequest, HttpServletRequest request, HttpServletResponse response)
      throws IOException {
    int status = response.getStatus();
    Object message = request.getAttribute(RequestDispatcher.ERROR_MESSAGE);
    String text =
        message == null
            ? "the request could not be read (HTTP " + status + ")"
            : message.toString();
    String code = status == 404 ? "not_found" : status >= 500 ? "internal_error" : "bad_request";
    byte[] body = AdminServer.errorBody(code, text).toString().getBytes(StandardCharsets.UTF_8);
    response.setContentType("application/json");
    response.setContentLength(body.length);
    response.getOutputStream().write(body);
    baseRequest.setHandled(true);
  }
}
