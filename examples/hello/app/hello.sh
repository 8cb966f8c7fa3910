#!/bin/sh
echo "hello from imgb"
