# omnikpi in a container: built in one stage, run in a small one as a non-root user, the
# database on the /data volume.
#
#   docker build -t omnikpi .
#   docker run -p 3000:3000 -v omnikpi-data:/data omnikpi
#   docker exec -it <container> omnikpi user add --email you@example.com --role admin

# ---- build ----------------------------------------------------------------------------
FROM rust:1.95-bookworm AS build
RUN apt-get update && apt-get install -y --no-install-recommends nodejs npm binaryen protobuf-compiler \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
# libduckdb comes prebuilt from the npm package (see package.json and scripts/setup.sh).
COPY package.json package-lock.json ./
RUN PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --omit=optional
RUN rustup target add wasm32-unknown-unknown \
    && cargo install cargo-leptos --version 0.3.10 --locked
COPY . .
RUN cargo leptos build --release \
    && mkdir -p /out/lib \
    && cp target/release/omnikpi /out/ \
    && cp -r target/site /out/site \
    && cp node_modules/@duckdb/node-bindings-linux-x64/libduckdb.so /out/lib/

# ---- run ------------------------------------------------------------------------------
FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates fontconfig fonts-dejavu-core \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --home-dir /data --shell /usr/sbin/nologin omnikpi \
    && mkdir -p /data && chown omnikpi:omnikpi /data
COPY --from=build /out/omnikpi /usr/local/bin/omnikpi
COPY --from=build /out/lib/libduckdb.so /usr/local/lib/libduckdb.so
COPY --from=build /out/site /srv/omnikpi/site
RUN ldconfig
WORKDIR /srv/omnikpi
ENV OMNIKPI_DB=/data/omnikpi.duckdb \
    OMNIKPI_ADDR=0.0.0.0:3000 \
    LEPTOS_SITE_ROOT=/srv/omnikpi/site \
    LEPTOS_OUTPUT_NAME=omnikpi \
    OMNIKPI_LOG_FORMAT=json
VOLUME ["/data"]
USER omnikpi
EXPOSE 3000
# No curl in the image: bash's /dev/tcp asks /readyz.
HEALTHCHECK --interval=30s --timeout=5s CMD ["/bin/bash", "-c", "exec 3<>/dev/tcp/127.0.0.1/3000 && printf 'GET /readyz HTTP/1.0\\r\\n\\r\\n' >&3 && head -1 <&3 | grep -q ' 200 '"]
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/local/bin/omnikpi"]
CMD ["serve"]
