package dev.bucketflow.worker;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.bucketflow.db.Json;
import dev.bucketflow.ingest.IngestClient;
import io.temporal.serviceclient.WorkflowServiceStubs;
import java.io.File;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.openqa.selenium.By;
import org.openqa.selenium.JavascriptExecutor;
import org.openqa.selenium.OutputType;
import org.openqa.selenium.TakesScreenshot;
import org.openqa.selenium.WebElement;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.chrome.ChromeDriverService;
import org.openqa.selenium.chrome.ChromeOptions;

/**
 * The dashboard in Debian's headless Chromium against a running {@code bucketflow dev} (the built
 * jar, as a separate process on free ports): the buckets table lists the buckets, a click opens a
 * bucket page whose trend chart and members table show the right numbers, a member's link opens the
 * user page with the explain tree, the preview form counts. Screenshots land in {@code
 * target/screenshots/}. Without Chromium the test fails under CI ({@code CI} set) and is skipped
 * elsewhere; {@code .ci/run} installs it.
 */
// One of the module's longest classes: started first (the parent pom orders classes by @Order),
// so the classes running in parallel end together instead of this one running on alone.
@Order(3)
class BrowserDashboardIT {

  static final Path CHROMIUM = Path.of("/usr/bin/chromium");
  static final Path CHROMEDRIVER = Path.of("/usr/bin/chromedriver");
  static final Duration DEADLINE = Duration.ofSeconds(120);
  static final Path SHOTS = Path.of("target/screenshots");

  static Process dev;
  static WorkflowServiceStubs service;
  static ChromeDriver browser;
  static CompletableFuture<ChromeDriver> browserStarting;
  static String base;

  @BeforeAll
  static void start() throws Exception {
    boolean have = Files.isExecutable(CHROMIUM) && Files.isExecutable(CHROMEDRIVER);
    if (!have && System.getenv("CI") != null) {
      throw new AssertionError(
          "Chromium is missing ("
              + CHROMIUM
              + ", "
              + CHROMEDRIVER
              + "): .ci/run installs it with "
              + "apt-get install -y chromium chromium-driver");
    }
    Assumptions.assumeTrue(
        have, "Chromium not installed: apt-get install -y chromium chromium-driver");
    Files.createDirectories(SHOTS);
    Path data = Files.createTempDirectory(Path.of("target"), "dev-browser-");
    int temporalPort = WorkerHarness.freePort();
    int pgPort = WorkerHarness.freePort();
    int adminPort = WorkerHarness.freePort();
    ProcessBuilder pb =
        new ProcessBuilder(
                WorkerHarness.jarCommand(
                    "dev",
                    "--temporal-port",
                    Integer.toString(temporalPort),
                    "--pg-port",
                    Integer.toString(pgPort),
                    "--admin-port",
                    Integer.toString(adminPort),
                    "--data-dir",
                    data.toString(),
                    "--buckets",
                    "src/test/resources/admin-buckets",
                    "--journeys",
                    "src/test/resources/admin-journeys"))
            .redirectErrorStream(true)
            .redirectOutput(new File("target/dev-browser.log"));
    pb.environment().remove("BUCKETFLOW_ADMIN_TOKEN");
    dev = pb.start();
    browserStarting =
        CompletableFuture.supplyAsync(
            () -> {
              try {
                return startBrowser();
              } catch (java.io.IOException e) {
                throw new java.io.UncheckedIOException(e);
              }
            });
    base = "http://127.0.0.1:" + adminPort;
    HttpClient http = HttpClient.newHttpClient();
    await()
        .atMost(DEADLINE)
        .pollInterval(Duration.ofMillis(500))
        .ignoreExceptions()
        .until(
            () -> {
              assertThat(dev.isAlive()).as("dev exited; see target/dev-browser.log").isTrue();
              return http.send(
                          HttpRequest.newBuilder(URI.create(base + "/health")).build(),
                          HttpResponse.BodyHandlers.ofString())
                      .statusCode()
                  == 200;
            });

    service = Temporal.connect("127.0.0.1:" + temporalPort);
    IngestClient ingest = new IngestClient(Temporal.client(service, "default"), "bucketflow", 8);
    Instant now = Instant.now().truncatedTo(ChronoUnit.SECONDS);
    List<JsonNode> events = new ArrayList<>();
    for (int i = 0; i < 30; i++)
      events.add(event(String.format("trial-%02d", i), "signup", null, "{\"plan\":\"trial\"}"));
    for (int i = 0; i < 5; i++)
      events.add(event(String.format("trial-%02d", i), "upgrade", null, "{\"plan\":\"pro\"}"));
    events.add(event("alice", "app.active", now.minus(1, ChronoUnit.HOURS), "{\"plan\":\"free\"}"));
    for (int d : new int[] {12, 10, 4, 3, 2, 1})
      events.add(event("alice", "key_action", now.minus(d, ChronoUnit.DAYS), null));
    ingest.sendAll(events, 1);
    await()
        .atMost(DEADLINE)
        .ignoreExceptions()
        .untilAsserted(
            () -> {
              JsonNode list =
                  Json.MAPPER.readTree(
                      http.send(
                              HttpRequest.newBuilder(URI.create(base + "/api/buckets")).build(),
                              HttpResponse.BodyHandlers.ofString())
                          .body());
              for (JsonNode b : list.get("buckets")) {
                if (b.get("id").asText().equals("trial"))
                  assertThat(b.get("size").asInt()).isEqualTo(25);
                if (b.get("id").asText().equals("trial"))
                  assertThat(b.get("left").asInt()).isEqualTo(5);
                if (b.get("id").asText().equals("engaged"))
                  assertThat(b.get("size").asInt()).isEqualTo(1);
              }
            });

    browser = browserStarting.join();
  }

  /**
   * Headless Chromium and its driver, started while {@code dev} boots (they need nothing of it).
   */
  static ChromeDriver startBrowser() throws java.io.IOException {
    ChromeOptions options = new ChromeOptions();
    options.setBinary(CHROMIUM.toFile());
    options.addArguments(
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--user-data-dir=" + Files.createTempDirectory("bucketflow-chromium-"),
        "--window-size=1400,1600");
    ChromeDriverService driver =
        new ChromeDriverService.Builder()
            .usingDriverExecutable(CHROMEDRIVER.toFile())
            .usingAnyFreePort()
            .build();
    return new ChromeDriver(driver, options);
  }

  @AfterAll
  static void stop() throws Exception {
    if (browser != null) {
      browser.quit();
    } else if (browserStarting != null) {
      try {
        browserStarting.join().quit(); // the setup failed before it took the browser
      } catch (java.util.concurrent.CompletionException e) {
        // it never started
      }
    }
    if (service != null) service.shutdownNow();
    if (dev != null) {
      dev.destroy(); // SIGTERM: dev's shutdown hook stops the worker, Temporal and PostgreSQL
      if (!dev.waitFor(60, java.util.concurrent.TimeUnit.SECONDS)) dev.destroyForcibly();
    }
  }

  static JsonNode event(String user, String name, Instant at, String props) throws Exception {
    ObjectNode e = Json.MAPPER.createObjectNode().put("userId", user).put("event", name);
    if (at != null) e.put("occurredAt", at.toString());
    if (props != null) e.set("properties", Json.MAPPER.readTree(props));
    return e;
  }

  static void shot(String name) throws Exception {
    Files.write(SHOTS.resolve(name), ((TakesScreenshot) browser).getScreenshotAs(OutputType.BYTES));
  }

  static List<WebElement> all(String css) {
    return browser.findElements(By.cssSelector(css));
  }

  static String text(String css) {
    return browser.findElement(By.cssSelector(css)).getText();
  }

  static Object js(String script) {
    return ((JavascriptExecutor) browser).executeScript(script);
  }

  @Test
  void bucketListToBucketPageToUserPageWithExplainTree() throws Exception {
    browser.get(base + "/");
    await().atMost(DEADLINE).until(() -> all("#buckets-table tbody tr[data-bucket]").size() == 3);
    assertThat(text("tr[data-bucket='trial'] td.size")).isEqualTo("25");
    assertThat(text("tr[data-bucket='trial'] td.entered")).isEqualTo("30");
    assertThat(text("tr[data-bucket='trial'] td.left")).isEqualTo("5");
    assertThat(text("tr[data-bucket='engaged'] td.size")).isEqualTo("1");
    // the sparklines are drawn (a canvas each)
    await().atMost(DEADLINE).until(() -> all("[data-spark] canvas").size() == 3);
    shot("01-buckets.png");

    browser.findElement(By.cssSelector("tr[data-bucket='trial'] a")).click();
    await()
        .atMost(DEADLINE)
        .until(
            () ->
                all("#members-table tbody tr[data-user]").size() == 25
                    && !all("#trend-chart canvas").isEmpty());
    assertThat(text("#bucket-title")).contains("On trial");
    assertThat(text("#stat-size")).isEqualTo("25");
    assertThat(text("#stat-entered")).isEqualTo("30");
    assertThat(text("#stat-left")).isEqualTo("5");
    // What the chart was given: joins, leaves and the size series of the trend.
    Object sizes =
        js(
            "const o = echarts.getInstanceByDom(document.getElementById('trend-chart')).getOption();"
                + "const s = o.series.find(x => x.name === 'size').data; const e = o.series.find(x => x.name === 'entered').data;"
                + "const l = o.series.find(x => x.name === 'left').data;"
                + "return [s[s.length - 1], e.reduce((a, b) => a + b, 0), l.reduce((a, b) => a + b, 0)];");
    assertThat(sizes.toString()).isEqualTo("[25, 30, 5]");
    assertThat(text("#trend-summary")).contains("30 entered, 5 left; size at the end: 25");
    assertThat(
            all("#members-table tbody tr[data-user] td:nth-child(2)").stream()
                .map(WebElement::getText))
        .containsOnly("active");
    assertThat(browser.findElement(By.id("members-next")).isEnabled())
        .as("one page of 25")
        .isFalse();
    shot("02-bucket-trial.png");

    // Search narrows the members table; the left filter shows the 5 who upgraded.
    browser.findElement(By.id("members-search")).sendKeys("trial-1");
    browser.findElement(By.cssSelector("#members-search + button")).click();
    await().atMost(DEADLINE).until(() -> all("#members-table tbody tr[data-user]").size() == 10);
    new org.openqa.selenium.support.ui.Select(
            browser
                .findElement(By.id("members-search"))
                .findElement(
                    By.xpath("ancestor::div[@class='toolbar']/select[@id='members-status']")))
        .selectByValue("left");
    await()
        .atMost(DEADLINE)
        .until(
            () ->
                all("#members-table tbody tr[data-user]").size() == 0
                    || all("#members-table tbody tr[data-user]").stream()
                        .allMatch(r -> r.getText().contains("left")));

    browser.get(base + "/#/bucket/engaged");
    await()
        .atMost(DEADLINE)
        .until(() -> all("#members-table tbody tr[data-user='alice']").size() == 1);
    assertThat(text("#definition").toLowerCase())
        .contains("all of")
        .contains("any of")
        .contains("count of key_action gte 3 within 7 d");
    assertThat(text("#journeys")).contains("engaged-welcome");
    browser.findElement(By.cssSelector("#members-table tbody tr[data-user='alice'] a")).click();
    await().atMost(DEADLINE).until(() -> all("#explain-tree li").size() == 5);
    assertThat(text("#user-title")).contains("alice");
    assertThat(text("#explain-verdict")).contains("member").contains("criteria match now");
    List<WebElement> nodes = all("#explain-tree li");
    assertThat(nodes.get(0).getAttribute("data-result")).isEqualTo("true");
    WebElement count = all("#explain-tree li[data-type='event']").get(1);
    assertThat(count.getText()).contains("count 4 in window").contains("all time 6");
    WebElement plan = all("#explain-tree li[data-type='property']").get(0);
    assertThat(plan.getAttribute("data-result")).isEqualTo("false");
    assertThat(plan.getText()).contains("value \"free\"");
    assertThat(all("#memberships-table tbody tr[data-bucket='engaged']")).hasSize(1);
    assertThat(all("#memberships-timeline canvas")).isNotEmpty();
    shot("03-user-alice.png");

    // Explaining another bucket from the user page: alice is not on trial.
    new org.openqa.selenium.support.ui.Select(browser.findElement(By.id("explain-bucket")))
        .selectByValue("trial");
    await().atMost(DEADLINE).until(() -> text("#explain-verdict").contains("not a member"));
    assertThat(text("#explain-tree"))
        .contains("property plan eq \"trial\"")
        .contains("value \"free\"");
  }

  @Test
  void previewFormShowsTheCountOrTheProblems() throws Exception {
    browser.get(base + "/#/preview");
    WebElement area = browser.findElement(By.id("preview-definition"));
    area.clear();
    area.sendKeys(
        "{\"id\":\"pro-users\",\"criteria\":{\"type\":\"property\",\"property\":\"plan\",\"operator\":\"eq\",\"value\":\"pro\"}}");
    browser.findElement(By.id("preview-run")).click();
    await().atMost(DEADLINE).until(() -> !all("#preview-count").isEmpty());
    assertThat(text("#preview-count")).isEqualTo("5");
    shot("04-preview.png");
    area.clear();
    area.sendKeys(
        "{\"id\":\"Bad Id\",\"criteria\":{\"type\":\"property\",\"property\":\"plan\",\"operator\":\"nope\"}}");
    browser.findElement(By.id("preview-run")).click();
    await().atMost(DEADLINE).until(() -> !all("#preview-result .problems li").isEmpty());
    assertThat(text("#preview-result")).contains("operator");
    shot("05-preview-problems.png");
  }
}
