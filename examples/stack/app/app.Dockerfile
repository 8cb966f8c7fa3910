ARG BASE
FROM ${BASE} AS build
COPY src/ /src/
RUN cat /src/*.txt > /opt/demo/greeting

FROM ${BASE} AS runtime
COPY --from=build /opt/demo/greeting /opt/demo/greeting
COPY VERSION /opt/demo/VERSION
COPY bin/run.sh /usr/local/bin/run.sh
CMD ["/usr/local/bin/run.sh"]
