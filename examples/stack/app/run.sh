#!/bin/sh
cat /opt/demo/greeting /opt/demo/VERSION
