# Production image of the worker (docker-compose.yml). Untested on the development machines,
# which have no Docker engine.
FROM maven:3.9-eclipse-temurin-17 AS build
WORKDIR /src
COPY . .
RUN mvn -B -q -DskipTests package

FROM eclipse-temurin:17-jre
WORKDIR /app
COPY --from=build /src/worker/target/bucketflow.jar /app/bucketflow.jar
COPY --from=build /src/examples /app/examples
EXPOSE 8088
ENTRYPOINT ["java", "-jar", "/app/bucketflow.jar"]
CMD ["worker"]
